# tests/integration/report_schemas.py: validate generated reports against the schemas in tests/schemas/ (see its
# README): DMARC aggregate XML with xmllint (Debian libxml2-utils) against RFC 7489 Appendix C, TLS-RPT JSON with
# python3-jsonschema against the RFC 8460 transcription.
# SPDX-License-Identifier: MIT
import json
import re
import shutil
import subprocess
from pathlib import Path

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
DMARC_XSD = SCHEMAS / "rfc7489-dmarc-aggregate.xsd"
TLSRPT_SCHEMA = SCHEMAS / "rfc8460-tlsrpt.schema.json"
DMARC_NS = "http://dmarc.org/dmarc-xml/0.1"


def validate_dmarc_xml(xml_bytes):
    """Raises AssertionError (with xmllint's messages) unless the report validates against RFC 7489 Appendix C."""
    assert shutil.which("xmllint"), "xmllint not installed (libxml2-utils, scripts/install-deps.sh)"
    text = xml_bytes.decode("utf-8") if isinstance(xml_bytes, bytes) else xml_bytes
    # Reports carry no namespace; the schema's elements are qualified: move the root (and so every element, by
    # default-namespace inheritance) into it. A report that already names a namespace is left as it is.
    text, n = re.subn(r"<feedback>", f'<feedback xmlns="{DMARC_NS}">', text, count=1)
    assert n == 1 or "<feedback " in text, text[:500]
    p = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", str(DMARC_XSD), "-"], input=text.encode(),
                       capture_output=True, timeout=60)
    assert p.returncode == 0, (p.stderr.decode(errors="replace"), text)


def validate_tlsrpt_json(report):
    """Raises unless the report (parsed JSON, or its text) validates against the RFC 8460 schema."""
    import jsonschema
    if isinstance(report, (bytes, str)):
        report = json.loads(report)
    schema = json.loads(TLSRPT_SCHEMA.read_text())
    jsonschema.validate(report, schema)
