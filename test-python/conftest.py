import os
import sys

# Make sure the tests import the installed wheel, never a source tree.
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != REPO]
