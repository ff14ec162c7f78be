"""`python -m bot` is the `chatcaddy` command."""

from bot.cli import main

raise SystemExit(main())
