"""The commands: `lake` (cli), `lake build`, `lake ui` and its guard, `lake bench`, `lake package`."""
