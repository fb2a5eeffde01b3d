"""A third-party connector for the Airflow tests, "installed" by putting its folder on PYTHONPATH."""
