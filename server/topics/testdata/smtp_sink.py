#!/usr/bin/python3
"""A real SMTP server on loopback for smtp_sender_test (Debian's aiosmtpd).

    smtp_sink.py OUT_DIR [--auth USER:PASSWORD]

Listens on 127.0.0.1, port 0 (or --port N), and prints the port it got on stdout (one
line). Every accepted message is saved before the server answers 250:
OUT_DIR/NNNN.eml holds the DATA bytes as received (after dot-unstuffing) and
OUT_DIR/NNNN.json the envelope {"mail_from", "rcpt_tos", "login"}.
Recipients whose local part is "reject" get 550, "defer" get 451.
With --auth, AUTH PLAIN/LOGIN is offered in clear text and required.
Runs until killed.
"""

import argparse
import asyncio
import json
import logging
import os
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult


class Sink:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local == "reject":
            return "550 5.1.1 <%s>: Recipient address rejected" % address
        if local == "defer":
            return "451 4.3.0 <%s>: Try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.out_dir, "%04d" % self.count)
        login = getattr(session.auth_data, "login", None)
        if isinstance(login, bytes):
            login = login.decode()
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "login": login}
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 Ok: queued as %04d" % self.count


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode() == user and
              auth_data.password.decode() == password)
        # handled=False: let aiosmtpd send the 235 / 535 reply itself.
        return AuthResult(success=ok, handled=False,
                          auth_data=auth_data if ok else None)
    return authenticator


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--auth")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    handler = Sink(args.out_dir)
    # Quiet the warnings about AUTH in clear text: this is a loopback test.
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    kwargs = {"hostname": "evbus-test-sink"}
    if args.auth:
        user, password = args.auth.split(":", 1)
        kwargs.update(authenticator=make_authenticator(user, password),
                      auth_required=True, auth_require_tls=False)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, **kwargs),
                                      host="127.0.0.1", port=args.port)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
