import json
from tests.s3.conftest import *

def test_explore(minio_weak):
    ev = PLUGIN.collect(target_for(minio_weak, read_config=True), creds(minio_weak.root_user, minio_weak.root_password), 60)
    print("CFG", json.dumps(ev.sections["config"]["audit_webhook"]))
    print("RAW", minio_weak.admin().config_get("audit_webhook"))
    print("ACC", minio_weak.admin("viewer", minio_weak.users["viewer"]).account_info()[:800])
