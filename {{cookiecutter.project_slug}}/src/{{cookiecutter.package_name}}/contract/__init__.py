"""Step 2, define inputs and outputs: the data contract every other step derives from."""

from .spec import Column, ColumnLevel, ContractError, DataContract, load_contract

__all__ = ["Column", "ColumnLevel", "ContractError", "DataContract", "load_contract"]
