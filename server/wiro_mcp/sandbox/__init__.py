"""The Wiro emulator (app.py), its memory (state.py) and its output files (media.py)."""

# The sandbox's own project: signature mode, so sandbox runs exercise request signing too.
SANDBOX_API_KEY = "sandbox-key"
SANDBOX_API_SECRET = "sandbox-secret"
