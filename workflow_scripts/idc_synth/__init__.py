"""IDC-Synth library: the logic behind the workflow's rules, importable by tests."""
