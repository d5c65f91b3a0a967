"""Connectors fetch a published dataset as a stream of Arrow record batches.

They know nothing of Dagster or of the warehouse: `pipelines.loading` writes what they yield.
One module per portal kind; `connector_for` picks the one a catalog entry asks for.
"""

from pipelines.connectors.base import Connector, ConnectorError
from pipelines.connectors.files import FileConnector

__all__ = ["Connector", "ConnectorError", "FileConnector"]
