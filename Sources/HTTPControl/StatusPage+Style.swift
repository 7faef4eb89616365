extension StatusPage {
    /// The page's stylesheet: system fonts only, light and dark schemes, fixed row heights for the
    /// virtualized tables (the script measures one row and positions the rest).
    static let style = #"""
        <style>
        :root {
          color-scheme: light dark;
          --bg: #f6f7f9; --panel: #fff; --text: #1c2128; --muted: #57606a; --line: #d6dbe1;
          --accent: #0a58b0; --accent-bg: #e3eefb; --ok: #1a7f37; --warn: #8a5a00; --bad: #c0252f; --bad-bg: #fdecec;
          --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace;
          font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", sans-serif;
        }
        @media (prefers-color-scheme: dark) {
          :root {
            --bg: #0e1217; --panel: #161b22; --text: #e6edf3; --muted: #9aa4af; --line: #2f3640;
            --accent: #6cb2ff; --accent-bg: #1b2c42; --ok: #46c25a; --warn: #d9a32b; --bad: #ff6b6b; --bad-bg: #3a1a1d;
          }
        }
        * { box-sizing: border-box; }
        html, body { height: 100%; }
        body { margin: 0; background: var(--bg); color: var(--text); display: flex; flex-direction: column; }
        h1, h2 { margin: 0; line-height: 1.2; }
        h1 { font-size: 1.35rem; letter-spacing: .01em; }
        h2 { font-size: 1.05rem; }
        code { font-family: var(--mono); font-size: .92em; }
        a { color: var(--accent); }
        button {
          font: inherit; font-size: .9rem; padding: .25rem .8rem; border-radius: 6px; cursor: pointer;
          border: 1px solid var(--line); background: var(--panel); color: var(--text);
        }
        button:hover { border-color: var(--accent); }
        :focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
        .sr-only {
          position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap;
        }
        .muted { color: var(--muted); }
        .skip { position: absolute; left: -999px; top: .5rem; }
        .skip:focus { left: .5rem; z-index: 2; background: var(--panel); padding: .3rem .6rem; }

        .top { display: flex; align-items: baseline; gap: 1rem; padding: .8rem 1.25rem .4rem; }
        .top .server { margin: 0; font-size: .88rem; }
        .top .link { margin-left: auto; }
        .link { margin: 0; display: flex; align-items: center; gap: .4rem; font-size: .9rem; color: var(--muted); }
        .dot { width: .65rem; height: .65rem; border-radius: 50%; background: var(--muted); }
        .link.up .dot { background: var(--ok); }
        .link.down .dot { background: var(--bad); }
        .link.down { color: var(--bad); font-weight: 600; }

        .metrics dl {
          display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .6rem;
          margin: 0; padding: .3rem 1.25rem .7rem;
        }
        .metrics div {
          background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .45rem .8rem;
        }
        .metrics dt { font-size: .8rem; color: var(--muted); }
        .metrics dd { margin: 0; font-size: 1.3rem; font-variant-numeric: tabular-nums; font-weight: 600; }

        .banner {
          margin: 0 1.25rem .7rem; padding: .6rem .9rem; border-radius: 8px;
          border: 1px solid var(--bad); background: var(--bad-bg);
        }
        .banner p { margin: .1rem 0; }

        main {
          flex: 1; min-height: 0; display: grid; grid-template-columns: minmax(20rem, 2fr) 3fr; gap: .9rem;
          padding: 0 1.25rem;
        }
        main.stale .panel { opacity: .55; }
        .panel {
          background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .8rem .9rem;
          display: flex; flex-direction: column; min-height: 0; min-width: 0;
        }
        .panel-head {
          display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 1rem;
        }
        .panel-head p { margin: 0; font-size: .88rem; }
        .filter { display: flex; align-items: center; gap: .6rem; margin-top: .6rem; }
        .filter input {
          flex: 1; font: inherit; padding: .35rem .55rem; border-radius: 6px;
          border: 1px solid var(--line); background: var(--bg); color: var(--text);
        }
        #matches { margin: .3rem 0 0; font-size: .85rem; min-height: 1.2em; }
        .scroll { flex: 1; min-height: 8rem; overflow: auto; margin-top: .5rem; border-top: 1px solid var(--line); }
        .empty { color: var(--muted); margin: .8rem .2rem; }

        table.rows { width: 100%; border-collapse: collapse; table-layout: fixed; font-variant-numeric: tabular-nums; }
        .rows th {
          position: sticky; top: 0; z-index: 1; background: var(--panel); text-align: left;
          font-size: .8rem; font-weight: 600; color: var(--muted);
          padding: .4rem .5rem; border-bottom: 1px solid var(--line);
        }
        .rows tbody tr { height: 2.2rem; }
        .rows td {
          padding: 0 .5rem; border-bottom: 1px solid var(--line);
          white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
        }
        .rows tr.spacer, .rows tr.spacer td { height: 0; padding: 0; border: 0; }
        .num { text-align: right; }
        th.num { text-align: right; }
        .c-count { width: 6.5rem; }
        .c-service { width: 42%; }
        #functions td.repeat { color: color-mix(in srgb, var(--muted) 50%, transparent); }
        #functions td a {
          display: block; padding: .3rem 0; overflow: hidden; text-overflow: ellipsis;
          text-decoration: none; font-weight: 500;
        }
        #functions td a:hover { text-decoration: underline; }
        #functions td a:focus-visible { outline-offset: -2px; }   /* the cell clips anything outside */
        #functions tr.selected td { background: var(--accent-bg); }
        #functions td.zero { color: var(--muted); }

        .details h2 code { font-size: 1em; }
        .query { display: flex; align-items: center; gap: .6rem; flex-wrap: wrap; margin-top: .7rem; }
        .query code {
          background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: .35rem .6rem;
          user-select: all;
        }
        .names { list-style: none; margin: .6rem 0 0; padding: 0; font-size: .88rem; display: grid; gap: .15rem; }
        .names code { color: var(--text); }
        .names span { color: var(--muted); }
        .error { color: var(--bad); font-weight: 600; }
        #instances { min-width: 44rem; }   /* narrow screens scroll it sideways rather than squeeze it */
        .c-id { width: 14%; } .c-address { width: 18%; } .c-num { width: 3.9rem; } .c-lease { width: 6.5rem; }
        #instances td.meta span {
          display: inline-block; margin-right: .2rem; padding: 0 .3rem; border-radius: 4px;
          background: var(--bg); border: 1px solid var(--line); font-family: var(--mono); font-size: .8rem;
        }
        #instances td.lease { text-align: right; font-family: var(--mono); }
        #instances td.soon { color: var(--warn); font-weight: 600; }
        #instances td.ended { color: var(--muted); font-style: italic; }

        footer { padding: .6rem 1.25rem .8rem; font-size: .82rem; }

        @media (max-width: 60rem) {
          html, body { height: auto; }
          main { grid-template-columns: 1fr; }
          .scroll { max-height: 60vh; }
        }
        </style>

        """#
}
