from .cli import app

app(prog_name=__package__)
