"""Step 2, define inputs and outputs: the data contract every other step derives from."""

from .spec import Column, ContractError, DataContract, load_contract

__all__ = ["Column", "ContractError", "DataContract", "load_contract"]
