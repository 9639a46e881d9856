"""Every control of the catalogue; importing this package registers them all."""

from phiguard.controls import (
    alb_http_to_https_redirection_check,
    cmk_backing_key_rotation_enabled,
    db_no_bastion_access,
    ec2_ebs_encryption_by_default,
    encrypted_volumes,
    kms_cmk_not_scheduled_for_deletion,
    s3_account_level_public_access_blocks,
    s3_bucket_level_public_access_prohibited,
    s3_bucket_logging_enabled,
    s3_bucket_ssl_requests_only,
    s3_bucket_versioning_enabled,
    s3_default_encryption_kms,
    vpc_sg_restricted_ports,
)

__all__ = [
    "alb_http_to_https_redirection_check",
    "cmk_backing_key_rotation_enabled",
    "db_no_bastion_access",
    "ec2_ebs_encryption_by_default",
    "encrypted_volumes",
    "kms_cmk_not_scheduled_for_deletion",
    "s3_account_level_public_access_blocks",
    "s3_bucket_level_public_access_prohibited",
    "s3_bucket_logging_enabled",
    "s3_bucket_ssl_requests_only",
    "s3_bucket_versioning_enabled",
    "s3_default_encryption_kms",
    "vpc_sg_restricted_ports",
]
