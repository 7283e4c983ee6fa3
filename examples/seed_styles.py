"""The three styles of Datadog's manual instrumentation page, unchanged."""
import time

from ddtrace import tracer


@tracer.wrap()
def business_logic():
    """Une méthode pertinente à tracer."""
    time.sleep(0.002)


# tracer une opération pertinente
with tracer.trace('operations.pertinentes'):
    business_logic()

span = tracer.trace('operations.pertinentes')
business_logic()
# REMARQUE : assurez-vous d'appeler span.finish(), sans quoi la trace entière ne sera pas envoyée
span.finish()
