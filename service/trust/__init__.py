"""The recruiter's trust check: request, verdict, wording and the stored report (no HTTP here)."""
