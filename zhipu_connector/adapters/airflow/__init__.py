"""The Apache Airflow provider: connection types, hooks, operators and triggers for every component.

Everything here is generated from the components the host has registered (zhipu, core and any
installed connector plugin), so a new action or connection property appears in Airflow with no
edit in this package. Airflow finds the provider through the `apache_airflow_provider` entry
point (`provider_info.get_provider_info`); DAGs import the generated classes:

    from zhipu_connector.adapters.airflow.operators import ZhipuAskOperator

This module imports nothing, so that Airflow's provider discovery stays cheap.
"""
