"""The `s3` target kind: S3-compatible object storage (MinIO, SeaweedFS, Ceph RGW)."""
