"""`python -m medialens`: the same command as `medialens`, for environments without the script on PATH."""

from medialens.cli import app

if __name__ == "__main__":
    app(prog_name="medialens")
