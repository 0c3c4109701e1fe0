"""The agent's edit commands on a decomposition directory: `rename`, `sync`, `merge`.

Each edit runs in an `EditSession` (session.py): a staged copy of the output directory that
replaces it only when the whole edit succeeded, so a refused or failing edit changes nothing.
The tree, the headers and the step copies are rebuilt from the files by `sync.py` after every
edit, and each edit appends one entry to decomposition_log.json (`log.py`).
"""
