from graphclust.cli import main

raise SystemExit(main())
