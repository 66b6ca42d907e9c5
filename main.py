"""Entry point of the cdktf app (`cdktf synth`, `cdktf deploy`) and of `python main.py`."""

import sys

from eso_oidc.app import main

if __name__ == "__main__":
    sys.exit(main())
