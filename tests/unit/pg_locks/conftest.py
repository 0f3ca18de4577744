"""Make the collection importable by its FQCN (ansible_collections.pynomaly.incident_response)."""
import sys
from pathlib import Path

COLLECTIONS = Path(__file__).resolve().parents[3] / ".collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
