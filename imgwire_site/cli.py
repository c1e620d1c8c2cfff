"""`imgwire-manage`: Django's manage.py for an installed package (pyproject.toml's
[project.scripts]), so an operator runs `imgwire-manage migrate` from any folder with no
checkout and no DJANGO_SETTINGS_MODULE to set."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imgwire_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
