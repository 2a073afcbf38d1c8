# Python tests of the nova-network patch set (patches/). From the repo root:
#   python3 -m unittest discover -s test/python -t . -v
# (needs test/__init__.py so that "test" is this repository's package and not
# the standard library's) or, equivalently, without any package:
#   python3 -m unittest discover -s test/python -v
import os
import sys

# The test modules import their helpers as a top-level module (garp_support)
# so that both invocations above work.
_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)
