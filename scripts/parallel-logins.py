#!/usr/bin/env python3
"""Parallel dashboard logins against a release server, as an attacker would send them:
64 attempts for names that do not exist, then 32 wrong passwords for a real login, then
the right password. Prints the answers, the server's peak RSS and its RSS a minute later.

Every attempt comes from 127.0.0.1, so the per-address limit of login attempts is turned
off in the copy of the configuration it runs with: the memory bound must hold for
attempts from many addresses too.

Run after `cargo build --release --bin tambon`: `python3 scripts/parallel-logins.py`.
Only 127.0.0.1 is contacted.
"""
import subprocess, time, socket, threading, urllib.request, urllib.parse, re, shutil, http.cookiejar, sys
def free_port():
    s=socket.socket(); s.bind(('127.0.0.1',0)); p=s.getsockname()[1]; s.close(); return p
import tempfile
data=tempfile.mkdtemp(prefix='tambon-logins-'); shutil.rmtree(data, ignore_errors=True)
import os
root=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bin=os.path.join(root,'target/release/tambon')
# The shipped configuration, its relative paths made absolute, the address limit off.
config_dir=os.path.join(root,'config')
lines=[]
for line in open(os.path.join(config_dir,'tambon.toml'),encoding='utf-8'):
    m=re.match(r'^(\w+) = "([^"]+)"$',line.rstrip('\n'))
    if m and not m.group(2).startswith('/') and '://' not in m.group(2) and os.path.exists(os.path.join(config_dir,m.group(2))):
        line=f'{m.group(1)} = "{os.path.join(config_dir,m.group(2))}"\n'
    if line.startswith('login_attempts_per_address_per_minute'):
        line='login_attempts_per_address_per_minute = 0\n'
    lines.append(line)
config=os.path.join(tempfile.mkdtemp(prefix='tambon-config-'),'tambon.toml')
open(config,'w',encoding='utf-8').write(''.join(lines))
subprocess.run([bin,'--config',config,'--data-dir',data,'admin','user','add','somchai','--role','admin'],input=b'correct horse battery\n',cwd=root,check=True,capture_output=True)
port=free_port()
srv=subprocess.Popen([bin,'--config',config,'--data-dir',data,'serve','--listen',f'127.0.0.1:{port}'],cwd=root,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
base=f'http://127.0.0.1:{port}'
def rss():
    for line in open(f'/proc/{srv.pid}/status'):
        if line.startswith('VmRSS'): return int(line.split()[1])/1024
for _ in range(100):
    try: urllib.request.urlopen(base+'/healthz',timeout=1); break
    except Exception: time.sleep(0.05)
time.sleep(1)
print(f'idle RSS {rss():.1f} MiB')
def attempt(name, password, results):
    jar=http.cookiejar.CookieJar()
    opener=urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page=opener.open(base+'/staff/login').read().decode()
    csrf=re.search(r'name="csrf" value="([^"]+)"',page).group(1)
    # the cookie is Secure; send it by hand on http
    cookie='; '.join(f'{c.name}={c.value}' for c in jar)
    req=urllib.request.Request(base+'/staff/login',data=urllib.parse.urlencode({'username':name,'password':password,'csrf':csrf}).encode(),headers={'Cookie':cookie})
    try:
        r=urllib.request.build_opener(NoRedirect).open(req); results.append(r.status)
    except urllib.error.HTTPError as e: results.append(e.code)
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self,*a,**k): return None
for label,n,name_of,pw in [('unknown names',64,lambda i:f'nobody{i}','x'),('wrong passwords',32,lambda i:'somchai','wrong password!')]:
    results=[]; peak=[0]
    stop=False
    def sample():
        while not stop:
            peak[0]=max(peak[0],rss()); time.sleep(0.02)
    t=threading.Thread(target=sample); t.start()
    threads=[threading.Thread(target=attempt,args=(name_of(i),pw,results)) for i in range(n)]
    t0=time.time()
    for th in threads: th.start()
    for th in threads: th.join()
    stop=True; t.join()
    from collections import Counter
    print(f'{n} parallel attempts, {label}: {dict(Counter(results))} in {time.time()-t0:.1f} s; peak RSS {peak[0]:.1f} MiB; RSS after {rss():.1f} MiB')
results=[]; attempt('somchai','correct horse battery',results); print('then the right password:',results)
time.sleep(60); print(f'RSS a minute later {rss():.1f} MiB')
srv.kill()
