"""The study's report layer: costs (the cost tables), readings (tables read as decisions, as
data), tables (the summary's tables), summary (tables -> context -> the Markdown template
summary.md.j2) and format (numbers, intervals, Markdown, HTML)."""
