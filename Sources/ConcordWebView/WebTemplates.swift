/// The web view's Mustache templates (swift-mustache). `{{x}}` escapes HTML; `{{{x}}}` is used
/// only for the page body and the SVG the server drew (whose texts `SVGChart` escaped).
enum WebTemplates {
    static let all: [(String, String)] = [
        ("layout", layout), ("login", login), ("error", error), ("overview", overview), ("list", list),
        ("stream", stream), ("changes", changes), ("asof", asOf),
    ]

    static let layout = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Concord</title>
        <style>
        body { font-family: system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #fff; line-height: 1.45; }
        a { color: #0b4f8a; } a:focus, button:focus, input:focus, select:focus { outline: 3px solid #c2571a; outline-offset: 2px; }
        .skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px; }
        header { background: #12324f; color: #fff; padding: 8px 16px; } header a { color: #fff; margin-right: 14px; }
        header a[aria-current] { font-weight: bold; text-decoration: underline; }
        main { padding: 8px 16px 32px; max-width: 1100px; }
        table { border-collapse: collapse; margin: 8px 0 16px; display: block; max-width: 100%; overflow-x: auto; } th, td { border: 1px solid #999; padding: 4px 8px; text-align: left; vertical-align: top; }
        th { background: #e8eef4; } .fault { color: #8b1a10; font-weight: bold; } .ok { color: #1e5e22; font-weight: bold; }
        form.asof, form.filters { background: #f3f5f7; padding: 8px; margin: 8px 0; border: 1px solid #ccd; }
        label { margin-right: 6px; } input, select, button { font-size: 1em; margin-right: 10px; }
        .note { color: #444; } ol.timeline li { margin-bottom: 8px; } code { word-break: break-all; }
        @media print { header nav, form, .skip { display: none; } a { color: #000; text-decoration: none; } }
        </style>
        </head>
        <body>
        <a class="skip" href="#content">Skip to the content</a>
        <header><nav aria-label="Sections">
        <a href="/view" {{#nav-overview}}aria-current="page"{{/nav-overview}}>Overview</a>
        <a href="/view/cases" {{#nav-cases}}aria-current="page"{{/nav-cases}}>Cases</a>
        <a href="/view/meetings" {{#nav-meetings}}aria-current="page"{{/nav-meetings}}>Meetings</a>
        <a href="/view/decisions" {{#nav-decisions}}aria-current="page"{{/nav-decisions}}>Decisions</a>
        <a href="/view/actions" {{#nav-actions}}aria-current="page"{{/nav-actions}}>Actions</a>
        <a href="/view/actions?overdue=1">Overdue</a>
        <a href="/view/conflicts" {{#nav-conflicts}}aria-current="page"{{/nav-conflicts}}>Conflicts</a>
        <a href="/view/changes" {{#nav-changes}}aria-current="page"{{/nav-changes}}>What changed</a>
        <a href="/view/bundle">Audit bundle</a>
        </nav></header>
        <main id="content">
        {{{body}}}
        </main>
        </body>
        </html>
        """

    static let asOf = """
        <form class="asof" method="get" action="{{path}}" aria-label="As of">
        <label for="as_of">Recorded by</label><input id="as_of" name="as_of" value="{{asOf}}" placeholder="2016-04-30">
        <label for="seen_by">as seen by</label><select id="seen_by" name="seen_by"><option value="">this node</option>{{#seenByOptions}}<option value="{{name}}" {{#selected}}selected{{/selected}}>{{name}}</option>{{/seenByOptions}}</select>
        <label for="valid_at">or happened by</label><input id="valid_at" name="valid_at" value="{{validAt}}" placeholder="2016-04-30">
        <button type="submit">Show</button>
        <p class="note" id="view-description">{{viewDescription}}</p>
        </form>
        """

    static let login = """
        <h1>Sign in to the web view</h1>
        <p>Give the read-only token this node's operator issued you (<code>concord token issue NAME --read-only</code>). It is kept in a cookie for this site only.</p>
        {{#error}}<p class="fault" role="alert">{{error}}</p>{{/error}}
        <form method="post" action="/view/login">
        <input type="hidden" name="next" value="{{next}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="token">Token</label><input id="token" name="token" type="password" autocomplete="off" required>
        <button type="submit">Sign in</button>
        </form>
        """

    static let error = """
        <h1>{{title}}</h1>
        <p class="fault" role="alert">{{message}}</p>
        <p><a href="/view">Back to the overview</a></p>
        """

    static let overview = """
        <h1>Node {{node}}</h1>
        <p>Origin <code>{{origin}}</code> · <span id="event-count">{{events}}</span> events held · read-model digest <code id="digest">{{digest}}</code></p>
        <h2>Verification</h2>
        {{#verified}}<p class="ok" id="verify-status">Verified at {{verifiedAt}}: every hash, chain link, seal and checkpoint holds, and the read models are the fold of the log.</p>{{/verified}}
        {{^verified}}<p class="fault" id="verify-status">Verified at {{verifiedAt}}: faults found.</p>{{/verified}}<ul>{{#faults}}<li class="fault">{{.}}</li>{{/faults}}</ul>
        <p>Forks with evidence kept: <span id="forks">{{forks}}</span> · conflicting values settled: <a href="/view/conflicts" id="conflicts">{{conflicts}}</a></p>
        <h2>Origins and their keys</h2>
        <table><caption>Every origin whose events this node holds</caption>
        <thead><tr><th scope="col">Origin</th><th scope="col">Node</th><th scope="col">Public key</th><th scope="col">Events</th></tr></thead>
        <tbody>{{#origins}}<tr><td><code>{{origin}}</code></td><td>{{node}}</td><td><code>{{publicKey}}</code></td><td>{{events}}</td></tr>{{/origins}}</tbody></table>
        <h2>Signed checkpoints held</h2>
        <table><caption>What each node said it held, signed: the choices of "as seen by"</caption>
        <thead><tr><th scope="col">Node</th><th scope="col">Checkpoints</th><th scope="col">Newest</th></tr></thead>
        <tbody>{{#checkpointNodes}}<tr><td>{{node}}</td><td>{{count}}</td><td>{{newest}}</td></tr>{{/checkpointNodes}}</tbody></table>
        <h2>Peers</h2>
        {{#hasPeers}}<table><thead><tr><th scope="col">Peer</th><th scope="col">Address</th><th scope="col">Last synced</th></tr></thead>
        <tbody>{{#peers}}<tr><td>{{name}}</td><td>{{url}}</td><td>{{lastSync}}</td></tr>{{/peers}}</tbody></table>{{/hasPeers}}
        {{^hasPeers}}<p>This node syncs with no peer of its own (peers may sync with it).</p>{{/hasPeers}}
        """

    static let list = """
        <h1>{{title}}</h1>
        {{> asof}}
        {{#hasFilters}}<form class="filters" method="get" action="/view/{{kind}}" aria-label="Filters">
        {{#hiddenView}}<input type="hidden" name="{{name}}" value="{{value}}">{{/hiddenView}}
        {{/hasFilters}}{{#filters}}{{#text}}<label for="f-{{name}}">{{label}}</label><input id="f-{{name}}" name="{{name}}" value="{{value}}">{{/text}}{{#checkbox}}<input type="checkbox" id="f-{{name}}" name="{{name}}" value="1" {{#checked}}checked{{/checked}}><label for="f-{{name}}">{{label}}</label>{{/checkbox}}{{/filters}}
        {{#hasFilters}}<button type="submit">Filter</button></form>{{/hasFilters}}
        <p><span id="row-count">{{count}}</span> row(s) · <a href="{{csvLink}}">Download as CSV</a></p>
        {{#chart}}<figure>{{{chart}}}</figure>{{/chart}}
        {{#empty}}<p>Nothing matches.</p>{{/empty}}
        {{^empty}}<table id="rows"><thead><tr>{{#columns}}<th scope="col">{{.}}</th>{{/columns}}</tr></thead>
        <tbody>{{#rows}}<tr>{{#cells}}<td>{{#link}}<a href="{{link}}">{{text}}</a>{{/link}}{{^link}}{{text}}{{/link}}</td>{{/cells}}</tr>{{/rows}}</tbody></table>{{/empty}}
        """

    static let stream = """
        <h1>{{stream}}</h1>
        {{> asof}}
        {{#sections}}<h2>{{table}}</h2>
        <table><thead><tr>{{#columns}}<th scope="col">{{.}}</th>{{/columns}}</tr></thead>
        <tbody>{{#rows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/rows}}</tbody></table>{{/sections}}
        {{#hasTrail}}<h2>Decision trail</h2>
        <table id="trail"><thead><tr>{{#trailColumns}}<th scope="col">{{.}}</th>{{/trailColumns}}</tr></thead>
        <tbody>{{#trail}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/trail}}</tbody></table>{{/hasTrail}}
        <h2>Timeline</h2>
        <figure>{{{timeline}}}</figure>
        <ol class="timeline" id="timeline">{{#steps}}<li><strong>{{type}}</strong> by {{actor}}, {{#node}}on {{node}}, {{/node}}origin <code>{{origin}}:{{seq}}</code>, recorded {{recordedAt}}, happened {{occurredAt}}{{#disclosure}} <em>({{disclosure}})</em>{{/disclosure}}
        <ul>{{#changes}}<li>{{table}} ({{key}}) {{kind}}: {{detail}}</li>{{/changes}}</ul></li>{{/steps}}</ol>
        """

    static let changes = """
        <h1>What changed between two dates</h1>
        <form class="filters" method="get" action="/view/changes" aria-label="Dates">
        <label for="from">From</label><input id="from" name="from" value="{{from}}" placeholder="2016-03-01">
        <label for="to">to</label><input id="to" name="to" value="{{to}}" placeholder="2016-06-01">
        <button type="submit">Compare</button>
        <p class="note">By when things happened in the world (valid time): the read models folded from what had happened by each date.</p>
        </form>
        {{#asked}}{{#none}}<p>Nothing changed.</p>{{/none}}{{^none}}<table id="changes"><thead><tr><th scope="col">Table</th><th scope="col">Row</th><th scope="col">Change</th><th scope="col">What</th></tr></thead>
        <tbody>{{#changes}}<tr><td>{{table}}</td><td>{{key}}</td><td>{{kind}}</td><td>{{detail}}</td></tr>{{/changes}}</tbody></table>{{/none}}{{/asked}}
        """
}
