"""`python -m kubesvc` is the `kubesvc` command."""

from kubesvc.cli.main import main

raise SystemExit(main())
