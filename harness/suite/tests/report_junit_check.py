"""Read a junit.xml the way CI test tabs do (xml.etree, then junitparser when installed) and print one
line per testcase: state, requirement IDs, name, file. Used by the report_* tests: a JUnit consumer
that is not ours."""
import sys
import xml.etree.ElementTree as ET

path = sys.argv[1]
root = ET.parse(path).getroot()
assert root.tag == "testsuites", root.tag
for case in root.iter("testcase"):
    reqs = [p.get("value") for p in case.findall("./properties/property[@name='requirement']")]
    state = "pass"
    for kind in ("failure", "error", "skipped"):
        if case.find(kind) is not None:
            state = kind
    print("case", state, ",".join(reqs), case.get("name"), case.get("file", ""), sep="\t")
try:
    import junitparser
except ImportError:
    print("junitparser\tmissing")
else:
    xml = junitparser.JUnitXml.fromfile(path)
    cases = [case for suite in xml for case in suite]
    bad = [case for case in cases if any(isinstance(r, (junitparser.Failure, junitparser.Error)) for r in case.result)]
    print("junitparser", len(cases), len(bad), sep="\t")
