#!/usr/bin/env python3
"""A real S3-compatible server on 127.0.0.1 for the tests (moto's server,
PyPI `moto[server]`, installed by scripts/prereqs), with signature checking
on: it creates one IAM user allowed s3:*, that user's access key and the
buckets named on the command line, then refuses any request not signed with
that key (AWS Signature Version 4, as the server's S3 client signs).

Prints one JSON line, {"endpoint", "access_key_id", "secret_access_key"},
then serves until its standard input closes (the test that started it ended
or died), so no server outlives its test. Requests go to standard error as
access-log lines ("DELETE /bucket/key HTTP/1.1" 204), which the tests count.

    python3 scripts/s3-test-server.py BUCKET [BUCKET...]
"""
import contextlib
import json
import os
import socket
import sys

# Every request after the setup below must be signed with the created key.
SETUP_REQUESTS = 3
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = str(SETUP_REQUESTS + len(sys.argv[1:]))
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(name, None)

import boto3  # noqa: E402  (moto depends on it)
from moto.server import ThreadedMotoServer  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    buckets = sys.argv[1:]
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=True)
    with contextlib.redirect_stdout(sys.stderr):  # its greeting; stdout is for the JSON line
        server.start()
    endpoint = f"http://127.0.0.1:{port}"
    setup = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
    iam = boto3.client("iam", **setup)
    iam.create_user(UserName="ocr-server")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_user_policy(UserName="ocr-server", PolicyName="s3", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="ocr-server")["AccessKey"]
    s3 = boto3.client("s3", **setup)
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
    print(json.dumps({"endpoint": endpoint, "access_key_id": key["AccessKeyId"],
                      "secret_access_key": key["SecretAccessKey"]}), flush=True)
    sys.stdin.read()  # until the test closes the pipe
    server.stop()


if __name__ == "__main__":
    main()
