from wiro_mcp.cli import main

raise SystemExit(main())
