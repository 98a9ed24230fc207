#!/usr/bin/env python3
"""Run a directory of real-world nginx configurations through `nginx -t` and
`fulcrum -t` and compare them:

  python3 scripts/realworld-nginx-sweep.py FULCRUM_BIN DIR [NAME...]   (V=1: print both outputs)

Each subdirectory of DIR is one configuration: its nginx.conf and whatever
that includes (snippets, certificates, mime.types, ...). The configurations
themselves are not kept in this repository (they are other projects' files,
under their licences): collect them yourself (SWAG's proxy-confs, Nginx Proxy
Manager's generated files, a distribution's /etc/nginx, an Ansible role's
rendered templates...) and adapt them only as far as this machine needs.
Placeholders in any text file are replaced before the run, so one copy can be
tested anywhere:

  %D%                   the configuration's own directory (use it for pid,
                        logs, temp paths, certificates and includes)
  %P80% %P443% %P8080%  free loopback ports (write listen 127.0.0.1:%P80%)
  %BK% %BKS% %FCGI%     free ports for backends you start yourself
  %DNS%                 a free UDP port (resolver 127.0.0.1:%DNS%)

Each configuration is copied to a temporary directory and checked with

  nginx -t -p COPY/ -c COPY/nginx.conf      and      fulcrum -t -p COPY/ -c COPY/nginx.conf

The comparison, in order: the decision (accepted or refused), then for a
refusal the file and line of the first error and its words (fulcrum's hint
after ", " left out), then the warnings nginx gives that fulcrum does not
(informational: fulcrum adds its own "is ignored" lines). A module nginx-light
1.22.1 lacks (nginx's "unknown directive") makes a configuration SKIP: take
those directives out to test the rest. NAME keeps the configurations whose
name contains one of the words. The exit status is 1 when a decision, line or
wording differs.

Traffic is not sent: for that, start both servers on the copies and compare
their answers (../shared/tools/nginx-diff does it for simple cases).
"""
import os, re, shutil, socket, subprocess, sys, tempfile

LEVEL = re.compile(r"\[(emerg|alert|crit|warn)\] (?:\d+#\d+: )?(.*)")
WHERE = re.compile(r"^(.*?) in ((?:/|D/)[^ ,]+):(\d+)(?:, (.*))?$")
UNKNOWN = re.compile(r'^unknown directive "([^"]+)"')
PLACEHOLDERS = ("%P80%", "%P443%", "%P8080%", "%BK%", "%BKS%", "%FCGI%")


def freeport(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def render(src, dst):
    """Copy configuration src to dst with its placeholders filled in."""
    shutil.copytree(src, dst, symlinks=True)
    values = {k: str(freeport()) for k in PLACEHOLDERS}
    values["%DNS%"] = str(freeport(socket.SOCK_DGRAM))
    values["%D%"] = dst
    for root, _, files in os.walk(dst):
        for f in files:
            p = os.path.join(root, f)
            if os.path.islink(p):
                continue
            try:
                text = open(p).read()
            except (UnicodeDecodeError, OSError):
                continue
            new = text
            for k, v in values.items():
                new = new.replace(k, v)
            if new != text:
                open(p, "w").write(new)
    os.makedirs(os.path.join(dst, "logs"), exist_ok=True)


def messages(out, d):
    """The [level] lines of a -t run as (level, message, file, line), the
    copy's directory shown as D."""
    res = []
    for l in out.replace(d, "D").splitlines():
        m = LEVEL.search(l)
        if not m:
            continue
        lvl, msg = m.groups()
        w = WHERE.match(msg)
        if w:
            res.append((lvl, w.group(1), w.group(2), int(w.group(3))))
        else:
            res.append((lvl, msg, "", 0))
    return res


def check(cmd, d):
    r = subprocess.run(cmd + ["-t", "-p", d + "/", "-c", d + "/nginx.conf", "-e", d + "/logs/error.log"],
                       capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    return r.returncode, messages(out, d), out.replace(d, "D")


def compare(name, src, fulcrum, work):
    """Compare one configuration: (verdict, detail, nginx output, fulcrum output)."""
    d = os.path.join(work, name)
    render(src, d)
    nrc, nmsg, nout = check(["nginx"], d)
    frc, fmsg, fout = check([fulcrum], d)
    nerr = [m for m in nmsg if m[0] != "warn"]
    ferr = [m for m in fmsg if m[0] != "warn"]
    if nerr and UNKNOWN.match(nerr[0][1]):
        return "SKIP", "nginx-light lacks it: " + nerr[0][1], nout, fout
    diffs = []
    if (nrc == 0) != (frc == 0):
        diffs.append("nginx accepts, fulcrum refuses" if nrc == 0 else "nginx refuses, fulcrum accepts")
    elif nrc != 0 and nerr and ferr:
        if nerr[0][3] and (nerr[0][3] != ferr[0][3] or nerr[0][2] != ferr[0][2]):
            diffs.append("LINE")
        elif nerr[0][1] != ferr[0][1]:
            diffs.append("WORDING")
    nw = sorted(set((m[1], m[3]) for m in nmsg if m[0] == "warn"))
    fw = set((m[1], m[3]) for m in fmsg if m[0] == "warn")
    # nginx names no line for what it finds after reading the files (the
    # certificates' stapling): any line of fulcrum's matches then.
    missing = [w for w in nw if w not in fw and not (w[1] == 0 and any(m == w[0] for m, _ in fw))]
    info = ("nginx warns: " + "; ".join(f"{m} :{l}" for m, l in missing)) if missing else ""
    return ("DIFF " + ", ".join(diffs)) if diffs else "SAME", info, nout, fout


def errors(out):
    return " | ".join(l.split("] ", 1)[-1] for l in out.splitlines() if "[emerg]" in l)[:300]


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    fulcrum, top, words = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3:]
    if shutil.which("nginx") is None:
        sys.exit("realworld-nginx-sweep: nginx is not installed (apt-get install nginx-light)")
    names = sorted(n for n in os.listdir(top) if os.path.isfile(os.path.join(top, n, "nginx.conf")))
    names = [n for n in names if not words or any(w in n for w in words)]
    verbose = os.environ.get("V") == "1"
    counts = {"SAME": 0, "DIFF": 0, "SKIP": 0}
    with tempfile.TemporaryDirectory(prefix="realworld-sweep.") as work:
        for n in names:
            verdict, info, nout, fout = compare(n, os.path.join(top, n), fulcrum, work)
            counts[verdict.split()[0]] += 1
            print(f"{verdict:<5} {n}" + (f"  ({info})" if info else ""))
            if verdict.startswith("DIFF") or verbose:
                print(f"      nginx:   {errors(nout) or 'ok'}")
                print(f"      fulcrum: {errors(fout) or 'ok'}")
    print(f"{counts['SAME']} same, {counts['DIFF']} differ, {counts['SKIP']} skipped")
    sys.exit(1 if counts["DIFF"] else 0)


if __name__ == "__main__":
    main()
