"""`evbus admin backup --to DIR` takes a consistent copy while the daemon
serves, and a daemon started on the copy has the buses, rules, events and
functions (restore = start evbusd on a copy of the backup)."""
import json
import os
import shutil
import tempfile
import unittest

from evbus_harness import Daemon, entry


class BackupTest(unittest.TestCase):

    def test_backup_while_serving_and_restore(self):
        work = tempfile.mkdtemp(prefix="evbus-backup-")
        os.chmod(work, 0o755)
        d = Daemon().start()
        restored = None
        try:
            d.cli("create-event-bus", "--name", "orders")
            d.cli("put-rule", "--name", "r", "--event-bus-name", "orders",
                  "--event-pattern", '{"source":["shop"]}')
            ids = [json.loads(d.put_events(
                [entry(source="shop", EventBusName="orders")]).stdout)
                ["Entries"][0]["EventId"] for _ in range(5)]
            code = os.path.join(work, "code")
            os.makedirs(code)
            with open(os.path.join(code, "app.py"), "w") as f:
                f.write("def h(event, context):\n    return {'restored': True}\n")
            d.cli_json("create-function", "--function-name", "fn",
                       "--runtime", "python3", "--handler", "app.h",
                       "--code", code)
            # The SNS signing key is created on first use: the certificate
            # URL (or the first signed message) makes it.
            key = os.path.join(d.data_dir, "sns-signing-key.pem")
            self.assertFalse(os.path.exists(key))
            status, pem = d.http_get("/SimpleNotificationService-evbus.pem")
            self.assertEqual(status, 200)
            self.assertIn("BEGIN CERTIFICATE", pem)
            self.assertTrue(os.path.exists(key))
            target = os.path.join(work, "backup")
            out = d.cli_json("admin", "backup", "--to", target)
            self.assertEqual(out["Directory"], target)
            self.assertGreater(out["SizeBytes"], 0)
            # The SNS signing key goes along (subscribers keep trusting it).
            for name in ("sns-signing-key.pem", "sns-signing-cert.pem"):
                with open(os.path.join(d.data_dir, name)) as a, \
                        open(os.path.join(target, name)) as b:
                    self.assertEqual(a.read(), b.read())
            # The source keeps serving; a second backup to the same place
            # is refused.
            r = d.cli("admin", "backup", "--to", target, check=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn("already exists", r.stderr)
            d.put_events([entry(source="shop", EventBusName="orders")])
            restored = Daemon(data_dir=target).start()
            rules = restored.cli_json("list-rules", "--event-bus-name",
                                      "orders")["Rules"]
            self.assertEqual([x["Name"] for x in rules], ["r"])
            events = restored.cli_json("list-events", "--event-bus-name",
                                       "orders")["Events"]
            self.assertEqual([e["EventId"] for e in events], ids)
            result = os.path.join(work, "out.json")
            restored.cli_json("invoke", "--function-name", "fn", result)
            with open(result) as f:
                self.assertEqual(json.load(f), {"restored": True})
        finally:
            d.cleanup()
            if restored is not None:
                restored.cleanup()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
