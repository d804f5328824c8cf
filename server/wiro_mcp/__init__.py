"""wiro-mcp: every Wiro model as a typed MCP tool."""

__version__ = "0.2.0"
