from nba_toolkit.cli.app import main

raise SystemExit(main())
