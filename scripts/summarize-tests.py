"""Adds up the JUnit reports of jest and pytest and prints one line: 'N passed, N failed, N skipped'."""
import os
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = missing = 0
for path in sys.argv[1:]:
    if not os.path.exists(path):
        print(f"{path}: no report (that runner did not run)")
        missing += 1
        continue
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    p = f = s = 0
    for suite in suites:
        for case in suite.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                f += 1
            elif case.find("skipped") is not None:
                s += 1
            else:
                p += 1
    print(f"{path}: {p} passed, {f} failed, {s} skipped")
    passed, failed, skipped = passed + p, failed + f, skipped + s

print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or missing or passed == 0 else 0)
