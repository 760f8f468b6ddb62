"""Tests of the SARIF, JUnit and Wazuh reporters."""
