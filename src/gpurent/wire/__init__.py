"""What gpurent's parties sign and send to each other, with no chain connection and no daemon:
the EIP-2612 permit (renter → token), the renter's signed access to a job (renter → agent), and
the heartbeat / challenge messages (agent ↔ oracle). The agent and the oracle both import it;
neither imports the other.
"""
