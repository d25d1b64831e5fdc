"""English phrasing: sentence templates, field labels and domain phrases for the English families.

Same keys and placeholders as ``lexicon_es.LEXICON`` (see that module). ``{o}``, ``{ha}`` and ``{quedo}`` are
unused in English; ``{esta}`` and ``{va}`` become "is"/"are". No template outside the ``status_*`` ones may contain a status wording
("on track", "at risk", "blocked", "green", "OK"...).
"""

from __future__ import annotations

LEXICON: dict = {
    "open": [
        "Daily report for the {p} project.", "{p} project – daily update.", "Update on {p}.", "Project: {p}.",
        "Status report, project {p}.", "Daily summary ({p}).",
        "Quick update on the {p} project.", "[{p}] Daily report.", "End-of-day report: {p}.",
        "Today's news from project {p}.", "Progress report for {p}.", "{p}: end of day summary.",
    ],
    "open_greeting": [
        "Hi all, here is today's summary for {p}.", "Morning all, quick update on {p}.", "Hello team, news from {p}.",
    ],
    "close_project": [
        "All of the above is for the {p} project.", "Project: {p}.", "(Daily report, project {p}.)", "— {p} project",
        "Ref: project {p}.", "That's all for {p} today.",
    ],
    "ms_noun": [
        "Today we finished {np}.", "We wrapped up {np}.", "Completed: {bare}.", "{Np} {esta} done.",
        "We completed {np} this morning.", "Milestone reached: {bare}.", "Done: {bare}.", "We've delivered {np}.",
        "Finally finished {np}.", "{Np} {esta} now complete.", "The big one today: we closed out {np}.",
        "Signed off {np} this afternoon.",
    ],
    "ms_ready": ["{Np} {esta} {adj}.", "{Np} {esta} now {adj}.", "As of today {np} {esta} {adj}."],
    "ms_none": [
        "No milestone closed today.", "Nothing completed today.", "No deliverables finished today.",
        "Nothing new wrapped up today.",
    ],
    "progress": [
        "Still working on {np2} ({pct}% done).", "{Np2} {va} at {pct}%.", "Progress on {np2}: {pct}% complete.",
        "We keep going with {np2}, about {pct}% there.",
    ],
    "blk_td": [
        "There was {cause} ({t}) that delayed {act} by {d}, but it's fixed now.", "{Cause} ({t}) cost us {d}.",
        "Lost {d} to {cause} ({t}).", "{T}: {cause}, {d} lost.", "{Act} slipped by {d} because of {cause} ({t}).",
        "We hit {cause} ({t}), which set {act} back {d}.", "{Cause} ({t}) meant a delay of {d} on {act}.",
        "{T} ({cause}) delayed {act} by {d}.", "{Act} was delayed {d} by {cause}, logged as {t}.",
    ],
    "blk_t": [
        "There was {cause} ({t}) that slowed {act} down a bit.", "{T}: {cause}; it delayed {act}, not sure by how much.",
        "{Cause} ({t}) held us up for a while.", "{Cause} ({t}) cost us some hours.",
        "We hit {cause} ({t}); {act} slipped, impact not estimated yet.",
    ],
    "blk_d": [
        "{Cause} delayed us {d}.", "Lost {d} to {cause}.", "{Act} slipped by {d} due to {cause}.",
        "There was {cause} that delayed {act} by {d}.", "{Cause} meant {d} of delay.",
    ],
    "blk_none": [
        "{Cause} slowed {act} down a bit.", "We had {cause} that held us up somewhat.",
        "There was {cause}, so {act} ran a little late.", "{Cause} cost us some time.",
    ],
    # Training-only wordings (``Record.rich``): blockers told as events, as people write them, not as "delays".
    "blk_td_rich": [
        "{Cause} ({t}): {act} on hold for {d}.", "{T} – {cause}, which cost us {d}.",
        "With {cause} ({t}) we spent {d} unable to move on {act}.", "{Cause}, logged as {t}; that ate {d}.",
    ],
    "blk_t_rich": [
        "{Cause}, raised as {t}; {act} is stuck meanwhile.", "Still waiting on {cause} ({t}), which holds up {act}.",
        "{T}: {cause}, {act} on hold.",
    ],
    "blk_d_rich": [
        "{Cause}, so we stopped {act} for {d}.", "{Cause}: {d} without being able to work on {act}.",
        "{Cause} and {act} sat idle for {d}.", "{Cause} ate {d}.", "{Cause} (no ticket), {d} lost.",
    ],
    "blk_none_rich": [
        "{Cause}, so we stopped {act} for the rest of the afternoon.", "Still waiting on {cause}, which holds up {act}.",
        "{Cause}; {act} is on hold until it's sorted.", "Also {cause}, no ticket yet.", "{Cause} and we had to stop {act}.",
    ],
    "no_blockers": ["No blockers.", "No issues today.", "Nothing blocking us.", "No impediments to report.", "Smooth day, no problems."],
    "closed": [
        "Closed {t}, no impact.", "{T} resolved, no delay.", "{T} fixed with no delay to the plan.",
        "Also closed {t} (no effect on the schedule).", "{T} was resolved without affecting the timeline.",
    ],
    "client": [
        "The client, {c}, is happy with progress.", "Client: {c}.", "{c} signed off the demo.",
        "We're in touch with {c} about the next phase.", "The client ({c}) asked for a small scope change.",
        "Had a follow-up call with {c} at {time}.", "Working for {c}.", "{c} confirmed they are pleased with the progress.",
        "Spoke with {c} this morning.",
    ],
    "client_anon": ["The client is pleased with progress.", "Had a call with the client today.", "The client reviewed the demo without objections."],
    "next_any": [
        "Next milestone: {ns_bare}.", "Next step: {ns_bare}.", "Next up: {ns}.", "For next week: {ns_bare}.",
        "Up next: {ns_bare}.", "Tomorrow's focus: {ns}.",
    ],
    "next_noun": ["Tomorrow we start on {ns}.", "Now moving on to {ns}.", "We'll pick up {ns} next.", "The next step is {ns}."],
    "next_verb": ["The next step is to {ns}.", "Tomorrow we will {ns}.", "Next we need to {ns}."],
    "budget_spent": [
        "Budget used: {m}.", "Spent so far: {m}.", "We've spent {m} to date.", "Budget consumed: {m}.",
        "Spend to date: {m}.", "Costs incurred so far: {m}.", "Total spent: {m}.", "We have spent {m}.",
    ],
    "budget_pair": ["Current budget: {mt}.", "Budget: {mt}.", "Spent {mt}.", "Budget used: {mt}."],
    "budget_pair_split": ["We've spent {m} out of a total of {tot}.", "Spent {m} of {tot} so far."],
    "budget_spent_pct": ["We've spent {m}, {pct}% of the budget.", "Spend: {m} ({pct}% of budget)."],
    "budget_total": ["Total budget is {tot}.", "Approved budget: {tot}.", "Total project budget: {tot}.", "Reminder: the total budget is {tot}."],
    "budget_remaining": ["{rem} of budget remaining.", "We have {rem} left in the budget.", "Remaining budget: {rem}."],
    "budget_pct": ["We've used {pct}% of the budget.", "Budget: {pct}% used.", "About {pct}% of the budget consumed."],
    "status_colour": ["Status: {w}.", "RAG: {w}.", "RAG status: {w}.", "Overall status: {w}.", "We're at {w}.", "Traffic light: {w}."],
    "status_state": ["The project is {w}.", "We're {w}.", "Status: {w}.", "Overall we're {w}."],
    "status_phrase": ["Status: {w}."],
    "status_label": ["Status: {w}.", "Overall status: {w}.", "Project status: {w}."],
    "extra": {
        "pct": ["Overall progress: {pct}%.", "Sprint is {pct}% through."],
        "date": ["We reviewed the plan on {date}.", "The schedule was updated on {date}."],
        "version": ["QA is testing build {ver}.", "Release {rel} is in staging.", "Still running version {ver} in the test environment."],
        "team": ["The team is now {n} people.", "Team of {n} this sprint."],
        "hours": ["The team spent {h} hours on regression testing.", "We put {h} hours into documentation today."],
        "time": ["Coordination meeting at {time}.", "Today's stand-up was at {time}."],
    },
    "filler": [
        "It was freezing in the office this morning.", "The weekly sync ran long again.", "{name} joined the team this week.",
        "We tried a new format for the dailies.", "Team lunch today for {name}'s birthday.",
        "The big meeting room is still being refurbished.", "We chatted a bit about the summer holidays.",
        "{n} people signed up for the Excel training.", "Spent {h} hours in a security workshop yesterday.",
        "The coffee machine on the second floor works again.", "{name} presented some ideas for better retrospectives.",
        "It rained most of the afternoon.", "We got new whiteboards in the project room.", "We did a short sprint retrospective.",
        "The steering committee met at {time}, though our project was not on the agenda.", "Office move planning continues.",
    ],
    "greeting": ["Hi {name},", "Good morning {name},", "Hello {name},", "Dear {name},", "Hi all,", "Hi team,"],
    "signoff": ["Best,", "Regards,", "Thanks,", "Cheers,", "Kind regards,", "Best regards,"],
    "subject": ["Subject: Daily report {p}", "Subject: {p} update {date}", "Subject: Project status – {p}", "Subject: EOD {p}"],
    "email_intro": ["Here is today's summary.", "Quick recap of the day below.", "Please find the daily update below.", ""],
    "closing": ["Let me know if you have questions.", "More tomorrow.", "Thanks.", "Speak soon.", "Shout if you need anything."],
    "roles": {
        "f": ["Project Manager", "PM", "Delivery Lead", "Site Manager", "Engagement Manager", "IT Ops Lead"],
        "m": ["Project Manager", "PM", "Delivery Lead", "Site Manager", "Engagement Manager", "IT Ops Lead"],
    },
    "labels": {
        "project": ["Project", "Project name"],
        "client": ["Client", "Customer", "For"],
        "status": ["Status", "RAG status", "Project status"],
        "spent": ["Budget used", "Spent", "Spend to date", "Budget consumed", "Costs to date"],
        "pair": ["Budget", "Budget (used/total)", "Current budget"],
        "total": ["Total budget", "Approved budget"],
        "remaining": ["Remaining budget", "Budget left"],
        "pct": ["Budget", "Budget burn"],
        "milestone": ["Milestone completed", "Completed", "Done today", "Achievement", "Milestone"],
        "blockers": ["Blockers", "Issues", "Impediments", "Problems"],
        "closed": ["Closed", "Closed tickets"],
        "next": ["Next step", "Next milestone", "Next steps", "Up next"],
        "progress": ["In progress", "Progress"],
        "date": ["Date"],
        "team": ["Team"],
        "version": ["Version"],
    },
    "pct_value": ["{pct}% used", "{pct}% spent"],
    "null_value": ["-", "n/a", "—", "none given"],
    "next_tbd": ["TBD", "to be defined"],
    "none_blockers": ["none", "no blockers", "-", "nothing"],
    "none_milestone": ["nothing notable", "none"],
    "team_value": ["{n} people"],
    "progress_value": ["{bare} ({pct}%)"],
    "blk_item_td": ["{t} ({d} lost)", "{t}: {cause}, delay of {d}", "{Cause} [{t}] – {d}", "{t} → {d}", "{t}, {d} of delay"],
    "blk_item_t": ["{t} (delay not quantified)", "{t}: {cause}, delay not estimated", "{t} – some delay"],
    "blk_item_d": ["{Cause}: {d} lost", "{Cause} ({d})", "{Cause}, delay of {d}"],
    "blk_item_none": ["{Cause} (delay not quantified)", "{Cause}, impact TBD"],
    "blk_item_td_rich": ["{t}: {cause}, lost {d}", "{Cause} ({t}) → {d} idle"],
    "blk_item_t_rich": ["{t}: {cause}, {act} on hold", "{Cause} (raised {t})"],
    "blk_item_d_rich": ["{Cause}, lost {d}", "{Cause}: {d} unable to work", "{Cause}, {act} stopped for {d}"],
    "blk_item_none_rich": ["{Cause}, {act} stopped for the rest of the afternoon", "{Cause}: {act} on hold",
                           "{Cause} (no ticket yet)", "{Cause}"],
    "closed_item": ["{t} (no impact)", "{t}, resolved with no delay"],
    "chat": {
        "done": ["done:", "shipped:", "✅", "finished:"],
        "blockers": ["blk:", "blockers:", "⚠️"],
        "no_blockers": ["no blockers", "0 blockers", "nothing blocking"],
        "spent": ["spent", "budget used", "burn"],
        "pair": ["budget", "budget:"],
        "client": ["client:", "cust:"],
        "next": ["next:", "tmrw:", "up next:"],
        "status": ["status", "RAG"],
        "total": ["total budget", "approved budget"],
        "remaining": ["left:", "remaining"],
        "pct": ["budget", "burn"],
    },
    "standup": {
        "done": ["What did we do?", "What got done?", "Done:", "Yesterday/today:"],
        "next": ["What's next?", "What are we doing next?", "Next:"],
        "blockers": ["Any blockers?", "Impediments?", "Blockers:"],
        "other": ["Other info:", "Also:", "Project data:"],
        "title": ["Standup {p}", "Daily standup – {p} – {date}", "{p} daily", "Stand-up notes, project {p}"],
        "none": ["None.", "Nothing to flag.", "No blockers."],
        "nothing_done": ["Nothing closed yet.", "Nothing finished today."],
        "nothing_next": ["TBD.", "We'll see tomorrow."],
    },
    "changelog": {
        "title": ["[{p}] log {date}", "== {p} · daily {date} ==", "LOG {p} {date}"],
        "done": ["+ DONE:", "[DONE]", "+ completed:"],
        "blocker": ["! BLOCKER:", "[IMPEDIMENT]", "! delay:"],
        "closed": ["~ CLOSED:", "[CLOSED]"],
        "next": ["> NEXT:", "[NEXT]", "> next:"],
        "kv_status": "status", "kv_client": "client", "kv_spent": "spent", "kv_budget": "budget",
    },
    "markdown": {
        "title": ["# Daily report – {p}", "# {p}: end of day", "## Project {p}", "# Daily {p} ({date})"],
        "done": ["## Completed", "## Done today", "### Milestones"],
        "blockers": ["## Blockers", "## Issues", "### Impediments"],
        "next": ["## Next steps", "## Up next", "### What's coming"],
        "data": ["## Data", "## Summary", "### Key facts"],
    },
    "table_header": ["Field | Value", "Item | Detail"],
    "runon_join": [", ", " and ", " ... ", ", also ", " and then ", ". ", " "],
    "voice": {
        "intro": ["okay starting", "right so", "uh today's report", "recording", ""],
        "fillers": ["uh", "um", "so", "like", "right", "you know", "well"],
        "stops": [" full stop ", " period ", " comma ", " ", " ", " "],
        "outro": ["and that's it", "end of message", "that's all", "over"],
    },
}

MILESTONES: dict[str, list[str]] = {
    "software": [
        "the payment module deployment", "the database migration to PostgreSQL", "the payment gateway integration",
        "the regression tests", "the login screen redesign", "the user service refactoring", "the new API go-live",
        "the reporting module", "two-factor authentication", "the initial customer data load", "the performance tests",
        "the product search feature",
    ],
    "itops": [
        "the mail server upgrade", "the VPN migration", "the firewall replacement", "the laptop refresh for the sales team",
        "the full data centre backup", "the new switches installation", "the Windows server patching",
        "the Microsoft 365 migration",
    ],
    "construction": [
        "the level 2 slab pour", "the block B foundations", "the facade scaffolding installation", "the roof waterproofing",
        "the ground floor electrical installation", "the site setting-out", "the level 3 partition walls",
        "the main street drainage works",
    ],
    "consulting": [
        "the diagnostic report delivery", "the interviews with the department heads", "the process mapping workshop",
        "the business plan draft", "the current state analysis", "the findings presentation to the committee",
        "the application inventory",
    ],
    "marketing": [
        "the Christmas campaign launch", "the new landing page", "the social media content calendar",
        "the brand guidelines update", "the newsletter redesign", "the product photo shoot", "the market study",
        "the summer email campaign",
    ],
}
READY: dict[str, list[tuple[str, str]]] = {
    "software": [("the login module", "ready"), ("the customer API", "live"), ("the staging environment", "ready")],
    "itops": [("the new file server", "live"), ("the guest wifi", "operational")],
    "construction": [("the tower crane", "assembled"), ("the final drawings", "approved")],
    "consulting": [("the diagnostic report", "finished"), ("the commercial proposal", "final")],
    "marketing": [("the new website", "live"), ("the campaign creatives", "approved")],
}
#: English noun phrases that take "are" rather than "is".
PLURALS: frozenset[str] = frozenset({
    "the regression tests", "the performance tests", "the block B foundations", "the level 3 partition walls",
    "the main street drainage works", "the interviews with the department heads", "the final drawings",
    "the campaign creatives",
})
NEXT_STEPS: dict[str, list[str]] = {
    "software": [
        "the billing system integration", "SSO", "UAT with the client", "the production deployment", "end-user training",
        "the code security review",
    ],
    "itops": [
        "the security audit", "the new backup go-live", "the mailbox migration",
        "the disaster recovery plan",
    ],
    "construction": [
        "the level 3 formwork", "the exterior joinery installation", "the structural inspection", "the level 3 slab pour",
    ],
    "consulting": [
        "the results presentation to the committee", "the action plan",
        "the interviews with the finance team",
    ],
    "marketing": [
        "the January sales campaign", "the campaign results report", "the social media launch",
    ],
}
#: Next steps that are actions (base form): "Prepare the Friday demo".
NEXT_ACTIONS: dict[str, list[str]] = {
    "software": ["prepare the Friday demo", "document the API"],
    "itops": ["update the hardware inventory"],
    "construction": ["order the plumbing materials"],
    "consulting": ["validate the diagnosis with the client"],
    "marketing": ["prepare the agency briefing"],
}
NEXT_TICKET: list[str] = ["resolve {t}", "close {t}", "review {t} with the vendor", "prioritise {t}", "tackle {t}"]
CAUSES: dict[str, list[str]] = {
    "software": [
        "a small bug", "a test environment failure", "a repository permissions error", "a problem with the vendor API",
        "a CI server outage", "a dependency conflict", "a bug in the sign-up form", "a data migration failure",
    ],
    "itops": [
        "a mail server outage", "an expired SSL certificate", "a VPN access problem", "a power cut in the data centre",
        "a full disk in production", "a failed update",
    ],
    "construction": [
        "heavy rain", "a late delivery of materials", "a crane breakdown", "a delay in the council inspection",
        "a problem with the concrete supplier", "a staff shortage on site",
    ],
    "consulting": [
        "a delay in the client's data delivery", "a delay in the scope approval", "a consultant off sick",
        "an access problem with the client's systems",
    ],
    "marketing": [
        "a delay in approving the creatives", "a problem with the printer", "an error in the campaign targeting",
        "a delay in the legal review",
    ],
    "any": ["a supplier issue", "a problem with {vendor}"],
}
ACTS: dict[str, list[str]] = {
    "software": ["testing", "the tests", "the deployment", "the integration", "the delivery"],
    "itops": ["the change", "the migration", "the maintenance window", "the rollout"],
    "construction": ["site work", "the pour", "the assembly", "the facade works"],
    "consulting": ["the analysis", "the delivery", "the workshop"],
    "marketing": ["the launch", "the campaign", "the agency handover"],
}
