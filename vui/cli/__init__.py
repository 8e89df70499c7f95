"""The `vui` command line (vui.cli.main:main)."""
