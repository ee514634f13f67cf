from core import hookimpl


@hookimpl
def on_deal_wom(event):
    """Misspelt on purpose: the kernel must refuse to start."""
