"""The phiguard command-line tool (not part of the Lambda package)."""
