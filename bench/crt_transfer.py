"""One upload or download through boto3's CRT transfer manager (s3transfer's
CRTTransferManager over awscrt, AWS's C client), run by the bench with the tools
virtualenv's Python so our own boto3 stays untouched.

    python crt_transfer.py up|down FILE BUCKET KEY ENDPOINT_URL

prints the seconds the transfer took (imports and client set-up excluded, as for the
in-process contenders).  boto3's own ``TransferConfig(preferred_transfer_client="crt")``
cannot be used here: it always signs for and connects over TLS to the AWS endpoint, so
this builds the same manager with the endpoint and plain HTTP, as the AWS CLI v2 does.
"""
import os
import sys
import time

import botocore.session
from s3transfer.crt import (BotocoreCRTCredentialsWrapper, BotocoreCRTRequestSerializer,
                            CRTTransferManager, create_s3_crt_client)


def main() -> int:
    direction, path, bucket, key, endpoint = sys.argv[1:6]
    session = botocore.session.Session()
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    credentials = session.get_credentials()
    provider = BotocoreCRTCredentialsWrapper(credentials).to_crt_credentials_provider()
    client = create_s3_crt_client(region, crt_credentials_provider=provider, use_ssl=False,
                                  part_size=16 << 20)
    serializer = BotocoreCRTRequestSerializer(
        session, {"region_name": region, "endpoint_url": endpoint})
    start = time.perf_counter()
    with CRTTransferManager(client, serializer) as manager:
        if direction == "up":
            future = manager.upload(path, bucket, key)
        else:
            future = manager.download(bucket, key, path)
        future.result()
    print(f"{time.perf_counter() - start:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
