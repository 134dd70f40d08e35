from tests.ops.conftest import s3_bucket, s3_server  # noqa: F401 (a real S3-protocol server)
