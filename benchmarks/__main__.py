from benchmarks.foundation import main

raise SystemExit(main())
