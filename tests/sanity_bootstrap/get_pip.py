"""Offline stand-in for the get-pip.py that ansible-test downloads (no network here).

ansible-test runs this file as __main__ inside a fresh venv with pip's usual arguments;
it installs pip from the wheel kept beside it, without reaching any index.
"""
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    wanted = [a for a in sys.argv[1:] if a.startswith("pip==")]
    version = wanted[0].split("==", 1)[1] if wanted else "*"
    wheels = sorted(glob.glob(os.path.join(HERE, "pip-%s-py3-none-any.whl" % version)))
    if not wheels:
        sys.exit("no pip %s wheel in %s; run tests/sanity.sh, which downloads it" % (version, HERE))
    sys.path.insert(0, wheels[-1])
    from pip._internal.cli.main import main as pip_main

    sys.exit(pip_main(["install", "--no-index", "--disable-pip-version-check", "--no-cache-dir", wheels[-1]]))


if __name__ == "__main__":
    main()
