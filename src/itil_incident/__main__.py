"""``python -m itil_incident``: the command-line service desk (needs the ``cli`` extra)."""

from __future__ import annotations

if __name__ == "__main__":
    try:
        from itil_incident.cli import main
    except ImportError as missing:  # the core package works without click and rich
        raise SystemExit(f"error: the command line needs the cli extra "
                         f"(pip install 'itil-incident[cli]'): {missing}") from None
    main()
