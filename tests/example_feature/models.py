"""The example feature's table."""
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base


class Greeting(Base):
    __tablename__ = "example_greetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(40))
