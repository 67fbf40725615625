"""Altinn Autorisasjon: resources, XACML policies and decisions, roles, access packages, delegations."""
