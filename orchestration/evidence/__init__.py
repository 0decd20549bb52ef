"""The evidence archive's adapters (the EvidenceArchive port, orchestration/ports.py): a folder
under the data directory (`folder.py`, the embedded default) and an S3 bucket (`s3.py`, on AWS)."""

MARKDOWN_NAME = "report.md"
JSON_NAME = "report.json"
