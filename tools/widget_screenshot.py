"""Screenshot the widget views a notebook saved, rendered by the real ipywidgets HTML manager in headless Chromium.

Dev-only; needs Debian's chromium (`apt-get install chromium`) and the widget manager bundle from npm:
    cd /tmp && npm pack @jupyter-widgets/html-manager@1.0.15 && tar xzf jupyter-widgets-html-manager-1.0.15.tgz
Usage: python tools/widget_screenshot.py nbs/03_widgets.ipynb OUT.png [--view K] [--embed /tmp/package/dist/embed.js]
The notebook must have been executed with a kernel (tools/run_nb.py) so that it holds widget views and their state.
"""
import argparse, json, subprocess, tempfile
from pathlib import Path

PAGE = '''<!DOCTYPE html><html><head><meta charset="utf-8">
<script src="file://{embed}"></script>
<style>body {{ font-family: sans-serif; margin: 12px; width: 1000px; }}</style></head><body>
<script type="application/vnd.jupyter.widget-state+json">{state}</script>
<script type="application/vnd.jupyter.widget-view+json">{view}</script>
</body></html>'''

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('nb')
    ap.add_argument('out')
    ap.add_argument('--view', type=int, default=0, help='which saved widget view (0 = first)')
    ap.add_argument('--embed', default='/tmp/package/dist/embed.js')
    ap.add_argument('--height', type=int, default=520)
    a = ap.parse_args()
    nb = json.loads(Path(a.nb).read_text())
    state = nb['metadata']['widgets']['application/vnd.jupyter.widget-state+json']
    views = [o['data']['application/vnd.jupyter.widget-view+json'] for c in nb['cells'] if c['cell_type'] == 'code'
             for o in c.get('outputs', []) if 'application/vnd.jupyter.widget-view+json' in o.get('data', {})]
    page = Path(tempfile.mkdtemp())/'view.html'
    page.write_text(PAGE.format(embed=Path(a.embed).resolve(), state=json.dumps(state), view=json.dumps(views[a.view])))
    subprocess.run(['chromium', '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars',
                    f'--user-data-dir={tempfile.mkdtemp()}', '--virtual-time-budget=5000', f'--window-size=1024,{a.height}',
                    f'--screenshot={Path(a.out).resolve()}', f'file://{page}'], check=True, capture_output=True)
    print(f'wrote {a.out} from view {a.view} of {len(views)}')

if __name__ == '__main__': main()
