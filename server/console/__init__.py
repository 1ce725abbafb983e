"""The operator's web console (issue 15): server-rendered pages under /console."""
